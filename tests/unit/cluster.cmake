# core/cluster: the coordinator's protocol and the coordinator itself on a real SQLite
# study with fake peers. segscale_cluster links jobs and Qt networking only: these build
# and run without LibTorch or the pipeline.
segscale_add_test(NAME tst_protocol SOURCES unit/tst_protocol.cpp common/printablecheck.h LIBS segscale_cluster LABELS unit)
segscale_add_test(NAME tst_coordinator SOURCES unit/tst_coordinator.cpp common/clusterfixtures.h LIBS segscale_cluster LABELS unit
                  TIMEOUT 120)
