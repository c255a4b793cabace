# core/jobs: the audit (AuditSampler, AuditStore) and the error log (ErrorLog, ErrorsCsv)
# over a real SQLite study; the v4 -> audit schema migration.
segscale_add_test(NAME tst_auditstore SOURCES unit/tst_auditstore.cpp common/auditstudy.h LIBS segscale_jobs LABELS unit)
# The same SQL on PostgreSQL; starts its own cluster and skips when the server is absent.
segscale_add_test(NAME tst_auditstore_pg
                  SOURCES unit/tst_auditstore_pg.cpp common/auditstudy.h common/postgresfixture.cpp common/postgresfixture.h
                  LIBS segscale_jobs Qt6::Network LABELS unit)
