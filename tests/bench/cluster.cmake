# The coordinator under many agents over loopback WebSocket (issue #12): results/s, lease
# and ack latency, and `segscale serve`'s RSS across a study. CTest runs a small
# configuration (the SEGSCALE_BENCH_* defaults below) and passes whenever it completes:
# targets are reported, never asserted. The real runs are by hand:
#   build/tests/bench_coordinator --agents 256 --images 1000000 --seconds 60 --json bench.json
segscale_add_test(NAME bench_coordinator
                  SOURCES bench/bench_coordinator.cpp common/postgresfixture.cpp common/postgresfixture.h
                  LIBS segscale_cluster Qt6::WebSockets Qt6::Sql Qt6::Network LABELS bench TIMEOUT 300
                  ENV SEGSCALE_BENCH_AGENTS=64 SEGSCALE_BENCH_IMAGES=30000 SEGSCALE_BENCH_SECONDS=4)
