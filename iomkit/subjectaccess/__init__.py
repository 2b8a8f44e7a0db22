"""Subject access (DPA 2018 s.45; issue 15, part 5): ``iom subject-access PERSON`` exports
everything held about a person, from every topic on the broker (the contract's, the dead
letters, the services' internal topics and changelogs, from which every service's store is
built), as JSON and a readable HTML summary, and writes the export itself to ``iom.audit``
(a DISCLOSURE to the data subject) before the files are written.

``select`` (pure) decides which records are the person's, ``render`` (pure) writes the
summary, ``export`` reads the broker as the operator."""
