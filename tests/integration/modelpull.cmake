# `segscale model pull|info|import` end to end: the real CLI against an HTTP server on
# 127.0.0.1 inside the test serving the real ESPNet checkpoint (intact, altered, cut off).
segscale_add_test(NAME tst_modelpull SOURCES integration/tst_modelpull.cpp
    LIBS Qt6::Network LABELS integration model TIMEOUT 600)
add_dependencies(tst_modelpull segscale)
