# SegScale Studio over a generated study (issue #13's 1,000,000-image responsiveness).
# CTest runs it on 20,000 images so that it keeps working (label bench, not in the normal
# suite); the real run is by hand:
#   build/tests/bench_studio --images 1000000 --pages 50 --db /tmp/studio-1m.db
if(SEGSCALE_BUILD_GUI)
    segscale_add_test(NAME bench_studio SOURCES bench/bench_studio.cpp LIBS segscale_ui LABELS bench TIMEOUT 600
                      ENV SEGSCALE_BENCH_IMAGES=20000)
endif()
