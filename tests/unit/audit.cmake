# core/jobs: the audit (AuditSampler, AuditStore) and the error log (ErrorLog, ErrorsCsv)
# over a real SQLite study; the v4 -> audit schema migration.
segscale_add_test(NAME tst_auditstore SOURCES unit/tst_auditstore.cpp common/auditstudy.h LIBS segscale_jobs LABELS unit)
