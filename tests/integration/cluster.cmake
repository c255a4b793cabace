segscale_add_test(NAME tst_cluster SOURCES integration/tst_cluster.cpp LIBS segscale_core Qt6::WebSockets Qt6::Sql
    LABELS integration model slow TIMEOUT 900)
