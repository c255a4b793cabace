# The native PSPNet, weight loading into LibTorch modules, and the built-in class tables.
segscale_add_test(NAME tst_pspnet SOURCES unit/tst_pspnet.cpp
                  LIBS segscale_model LABELS unit model TIMEOUT 300)
target_compile_options(tst_pspnet PRIVATE ${TORCH_CXX_FLAGS})
segscale_add_test(NAME tst_statedictloader SOURCES unit/tst_statedictloader.cpp
                  LIBS segscale_model LABELS unit model)
target_compile_options(tst_statedictloader PRIVATE ${TORCH_CXX_FLAGS})
segscale_add_test(NAME tst_classtable SOURCES unit/tst_classtable.cpp
                  LIBS segscale_model LABELS unit model)
