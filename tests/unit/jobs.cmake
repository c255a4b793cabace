# core/jobs: the study database.
segscale_add_test(NAME tst_jobstore SOURCES unit/tst_jobstore.cpp LIBS segscale_jobs LABELS unit)
# Drives the real `segscale study ...`; it lives here with the job store tests but is an
# integration test (it needs the segscale executable and ../shared's model card).
segscale_add_test(NAME tst_jobstore_cli SOURCES unit/tst_jobstore_cli.cpp LIBS segscale_jobs LABELS integration)
add_dependencies(tst_jobstore_cli segscale)
# The same store on PostgreSQL; starts its own cluster and skips when the server is absent.
segscale_add_test(NAME tst_jobstore_pg
                  SOURCES unit/tst_jobstore_pg.cpp common/postgresfixture.cpp common/postgresfixture.h LIBS segscale_jobs Qt6::Network LABELS unit)
# ResultsQuery (sorted, filtered keyset pages over result_shares; means; the paged CSV
# export) on SQLite and on a private PostgreSQL (skipped when the server is absent).
segscale_add_test(NAME tst_resultsquery
                  SOURCES unit/tst_resultsquery.cpp common/postgresfixture.cpp common/postgresfixture.h LIBS segscale_jobs Qt6::Network LABELS unit)
