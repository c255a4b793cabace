# SFTP fetch throughput, 1 vs 8 transfers in flight, against a private sshd. CTest runs a
# small count; run bench_sftp by hand with SEGSCALE_BENCH_FILES=1000 for steadier numbers.
segscale_add_test(NAME bench_sftp SOURCES bench/bench_sftp.cpp common/sshdfixture.cpp common/sshdfixture.h
                  LIBS segscale_storage Qt6::Network LABELS bench TIMEOUT 300 ENV SEGSCALE_BENCH_FILES=120)
