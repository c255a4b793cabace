# The study database at scale. The CTest entry runs 20,000 rows; run the million by hand:
#   build/tests/bench_jobstore --rows 1000000
segscale_add_test(NAME bench_jobstore SOURCES bench/bench_jobstore.cpp LIBS segscale_jobs LABELS bench TIMEOUT 600)
