# core/launch: launching any command line locally, over SSH (private sshd) and as a
# Slurm job array (private Slurm cluster, tests/common/slurmfixture; skipped without
# slurm-wlm/munge or root).
segscale_add_test(NAME tst_launchers
                  SOURCES integration/tst_launchers.cpp common/sshdfixture.cpp common/sshdfixture.h
                          common/slurmfixture.cpp common/slurmfixture.h
                  LIBS segscale_launch Qt6::Network LABELS integration TIMEOUT 300)
