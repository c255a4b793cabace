# `segscale segment` and `segscale study add` over sftp:// against a private sshd
# (tests/common/sshdfixture) with the real ESPNet model; StorageFetcher checked directly.
segscale_add_test(NAME tst_sftpsegment
                  SOURCES integration/tst_sftpsegment.cpp common/sshdfixture.cpp common/sshdfixture.h
                  LIBS segscale_pipeline segscale_jobs Qt6::Network LABELS integration TIMEOUT 900)
add_dependencies(tst_sftpsegment segscale)
