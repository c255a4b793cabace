# The audit samples and the filtered error log on a generated study; at scale:
#   build/tests/bench_audit --rows 1000000
segscale_add_test(NAME bench_audit SOURCES bench/bench_audit.cpp LIBS segscale_jobs LABELS bench TIMEOUT 600)
