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
