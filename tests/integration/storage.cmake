# core/storage: local folders and SFTP against a private sshd (tests/common/sshdfixture).
segscale_add_test(NAME tst_localstorage SOURCES integration/tst_localstorage.cpp
                  LIBS segscale_storage LABELS integration)
segscale_add_test(NAME tst_sftpstorage
                  SOURCES integration/tst_sftpstorage.cpp common/sshdfixture.cpp common/sshdfixture.h
                  LIBS segscale_storage Qt6::Network LABELS integration TIMEOUT 300)
