# `segscale bench` end to end on two tiny pictures: checks the table and the JSON, never
# the timings. Real measurements are run by hand (see `segscale bench --help`), e.g.
#   segscale bench --model ../shared/models/espnet-cityscapes --images 3 --json bench.json
segscale_add_test(NAME tst_benchcli SOURCES bench/tst_benchcli.cpp LIBS segscale_pipeline LABELS bench TIMEOUT 300)
add_dependencies(tst_benchcli segscale)
