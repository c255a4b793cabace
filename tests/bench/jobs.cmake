# The study database at scale. The CTest entry runs 20,000 rows; run the million by hand:
#   build/tests/bench_jobstore --rows 1000000
segscale_add_test(NAME bench_jobstore SOURCES bench/bench_jobstore.cpp LIBS segscale_jobs LABELS bench TIMEOUT 600)
# The Results view's queries (sort/filter by a class share, means, export page); the
# CTest entry runs 20,000 results; the million by hand:
#   build/tests/bench_resultsquery --rows 1000000
segscale_add_test(NAME bench_resultsquery SOURCES bench/bench_resultsquery.cpp LIBS segscale_jobs LABELS bench TIMEOUT 600)
