"""The referrals pages: views (`*_views.py`, registered on the service's Faust app when
imported), the HTML they answer with (`render*.py`, pure) and the forms they read
(`forms.py`, pure). Importing this package imports no view, so the pure modules load
without the app."""
