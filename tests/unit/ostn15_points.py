"""The Ordnance Survey's published OSTN15 test points: the 40 points of the OSTN15/OSGM15
developer pack (OS, "OSTN15_OSGM15_TestInput_OSGBtoETRS.txt" and the RESULT rows of
"OSTN15_OSGM15_TestOutput_OSGBtoETRS.txt"; "OSTN15_OSGM15_TestOutput_ETRStoOSGB.txt" for
the other direction), published for testing implementations. Copyright (c) 2015,
Ordnance Survey and the Ministry of Defence (MOD), released by the OS under a BSD
2-clause licence (the developer pack's licence file has its full terms).

Copied from two public test suites that reproduce the OS files, which agree to the 8
decimals the second keeps: fakmalpradana/clydetwin tests/fixtures/
os_ostn15_osgm15_osgb_to_etrs.csv and urschrei/lonlat_bng test_inputs/OSGB36_to_ETRS.csv
(the OS output file); the ETRS89 -> OSGB36 results as the OS test of the R package sgs
lists them (its tests also read the OS files themselves). ETRS89 latitude/longitude are
read as WGS84 here.
"""

from __future__ import annotations

# (point, OSGB36 easting m, northing m, ETRS89 latitude, longitude): OSGB36 -> ETRS89.
OSGB_TO_ETRS: tuple[tuple[str, float, float, float, float], ...] = (
    ("TP01", 91492.146, 11318.804, 49.92226393730, -6.29977752014),
    ("TP02", 170370.718, 11572.405, 49.96006137820, -5.20304609998),
    ("TP03", 250359.811, 62016.569, 50.43885825610, -4.10864563561),
    ("TP04", 449816.371, 75335.861, 50.57563665000, -1.29782277240),
    ("TP05", 438710.920, 114792.250, 50.93127937910, -1.45051433700),
    ("TP06", 292184.870, 168003.465, 51.40078220140, -3.55128349240),
    ("TP07", 639821.835, 169565.858, 51.37447025550, 1.44454730409),
    ("TP08", 362269.991, 169978.690, 51.42754743020, -2.54407618349),
    ("TP09", 530624.974, 178388.464, 51.48936564950, -0.11992557180),
    ("TP10", 241124.584, 220332.641, 51.85890896400, -4.30852476960),
    ("TP11", 599445.590, 225722.826, 51.89436637350, 0.89724327012),
    ("TP12", 389544.190, 261912.153, 52.25529381630, -2.15458614387),
    ("TP13", 474335.969, 262047.755, 52.25160951230, -0.91248956970),
    ("TP14", 562180.547, 319784.995, 52.75136687170, 0.40153547065),
    ("TP15", 454002.834, 340834.943, 52.96219109410, -1.19747655922),
    ("TP16", 357455.843, 383290.436, 53.34480280190, -2.64049320810),
    ("TP17", 247958.971, 393492.909, 53.41628516040, -4.28918069756),
    ("TP18", 247959.241, 393495.583, 53.41630925420, -4.28917792869),
    ("TP19", 331534.564, 431920.794, 53.77911025760, -3.04045490691),
    ("TP20", 422242.186, 433818.701, 53.80021519630, -1.66379168242),
    ("TP21", 227778.330, 468847.388, 54.08666318080, -4.63452168212),
    ("TP22", 525745.670, 470703.214, 54.11685144290, -0.07773133187),
    ("TP23", 244780.636, 495254.887, 54.32919541010, -4.38849118133),
    ("TP24", 339921.145, 556034.761, 54.89542340420, -2.93827741149),
    ("TP25", 424639.355, 565012.703, 54.97912273660, -1.61657685184),
    ("TP26", 256340.925, 664697.269, 55.85399952950, -4.29649016251),
    ("TP27", 319188.434, 670947.534, 55.92478265510, -3.29479219337),
    ("TP28", 167634.202, 797067.144, 57.00606696050, -5.82836691850),
    ("TP29", 397160.491, 805349.736, 57.13902518960, -2.04856030746),
    ("TP30", 267056.768, 846176.972, 57.48625000720, -4.21926398555),
    ("TP31", 9587.906, 899449.000, 57.81351838410, -8.57854456076),
    ("TP32", 71713.131, 938516.405, 58.21262247180, -7.59255560556),
    ("TP33", 151968.652, 966483.780, 58.51560361300, -6.26091455533),
    ("TP34", 299721.891, 967202.992, 58.58120461280, -3.72631022121),
    ("TP35", 330398.323, 1017347.016, 59.03743871190, -3.21454001115),
    ("TP36", 261596.778, 1025447.602, 59.09335035320, -4.41757674598),
    ("TP37", 180862.461, 1029604.114, 59.09671617400, -5.82799339844),
    ("TP38", 421300.525, 1072147.239, 59.53470794490, -1.62516966058),
    ("TP39", 440725.073, 1107878.448, 59.85409913890, -1.27486910356),
    ("TP40", 395999.668, 1138728.951, 60.13308091660, -2.07382822798),
)

# (point, latitude, longitude, OSGB36 easting, northing): the same latitudes/longitudes ->
# OSGB36. The published easting/northing equal the inputs
# above except at two points in the far north-west, where OSTN15's forward and inverse
# differ by a few millimetres (the OS lists both).
ETRS_TO_OSGB: tuple[tuple[str, float, float, float, float], ...] = tuple(
    (p, lat, lon, *{"TP31": (9587.909, 899448.996), "TP32": (71713.132, 938516.404)}.get(
        p, (e, n)))
    for p, e, n, lat, lon in OSGB_TO_ETRS
)
