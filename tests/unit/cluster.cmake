# core/cluster: the coordinator's protocol and the coordinator itself on a real SQLite
# study with fake peers. segscale_cluster links jobs and Qt networking only: these build
# and run without LibTorch or the pipeline.
segscale_add_test(NAME tst_protocol SOURCES unit/tst_protocol.cpp common/printablecheck.h LIBS segscale_cluster LABELS unit)
segscale_add_test(NAME tst_coordinator SOURCES unit/tst_coordinator.cpp common/clusterfixtures.h LIBS segscale_cluster LABELS unit
                  TIMEOUT 120)
# The agent heartbeat's accelerator object (NVML, loaded at run time): built from its one
# source file, so the test needs neither LibTorch nor a GPU.
segscale_add_test(NAME tst_acceleratorusage SOURCES unit/tst_acceleratorusage.cpp ../core/agent/acceleratorusage.cpp
                  LIBS Qt6::Core LABELS unit TIMEOUT 60)
