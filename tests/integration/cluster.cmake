# The distributed scheme with real processes: serve + agents on 127.0.0.1 over SQLite,
# two coordinators on one private PostgreSQL, agents as a private Slurm job array.
segscale_add_test(NAME tst_cluster
    SOURCES integration/tst_cluster.cpp common/postgresfixture.cpp common/postgresfixture.h
            common/slurmfixture.cpp common/slurmfixture.h common/sshdfixture.cpp common/sshdfixture.h
    LIBS segscale_core Qt6::WebSockets Qt6::Sql
    LABELS integration model slow TIMEOUT 1200)
