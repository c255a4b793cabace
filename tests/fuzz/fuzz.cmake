# A bounded fuzz run of the checkpoint reader (what `segscale model import` and every
# model load parse from possibly hostile files): SEGSCALE_FUZZ_SECONDS of mutated legacy
# and zip checkpoints and pickles, failing on a crash or an input slower than 10 s.
#   ctest -L fuzz                                   # the CI run (~40 s)
#   build/tests/fuzz_checkpointreader --seconds 600 # longer, by hand
# A libFuzzer build: compile fuzz/fuzz_checkpointreader.cpp with clang and
# -DSEGSCALE_LIBFUZZER -fsanitize=fuzzer,address against segscale_model.
set(SEGSCALE_FUZZ_SECONDS 40 CACHE STRING "How long the fuzz test runs under CTest")
segscale_add_test(NAME fuzz_checkpointreader
    SOURCES fuzz/fuzz_checkpointreader.cpp common/picklewriter.h
    LIBS segscale_model
    LABELS fuzz model
    TIMEOUT 180
    ENV SEGSCALE_FUZZ_SECONDS=${SEGSCALE_FUZZ_SECONDS})

# A bounded fuzz run of the coordinator's protocol (every byte an agent or admin client
# sends): Protocol::parse as every role, then a real Coordinator on a SQLite study fed
# through a fake peer, for SEGSCALE_FUZZ_SECONDS; fails on a crash, an input slower than
# 5 s, or a broken rule (refusals one printable line, a bad frame closes its session).
# Needs no LibTorch. A libFuzzer build: compile fuzz/fuzz_protocol.cpp with clang and
# -DSEGSCALE_LIBFUZZER -fsanitize=fuzzer,address against segscale_cluster.
segscale_add_test(NAME fuzz_protocol
    SOURCES fuzz/fuzz_protocol.cpp common/clusterfixtures.h common/printablecheck.h
    LIBS segscale_cluster
    LABELS fuzz
    TIMEOUT 180
    ENV SEGSCALE_FUZZ_SECONDS=${SEGSCALE_FUZZ_SECONDS} SEGSCALE_FUZZ_SLOW_SECONDS=5)
