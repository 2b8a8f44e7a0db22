"""The audit trail that answers (issue 15, part 4): ``iom.audit`` loaded into an indexed
DuckDB store (``store``) by the operator's command line (``load``), each record put under
one of the six kinds of processing DPA 2018 s.62 names (``kinds``), and the questions a data
protection officer asks answered by pure queries over the store (``queries``).

Who reads the topic: only the operator (``iomkit.access.OPERATOR_ONLY``). No service is
given READ on ``iom.audit``: the store is loaded by ``iom audit load`` (and before each
``iom audit`` question) with the operator's client configuration, and the data protection
officer's page (insights, ``/audit``) opens the store *file*, read only, never the topic.
So giving the page to a service widens who may read the trail by nobody: a worker with its
own Kafka principal cannot read the topic it writes.
"""
