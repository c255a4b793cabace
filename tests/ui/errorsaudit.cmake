# The Errors and Audit tabs (ErrorsPage, AuditPage, their models and the errors export)
# over a real embedded coordinator and a SQLite study written with JobStore; drives
# `segscale study export` for the byte comparisons.
if(SEGSCALE_BUILD_GUI)
    segscale_add_test(NAME tst_errorsauditpages SOURCES ui/tst_errorsauditpages.cpp common/auditstudy.h common/clirun.h
                      LIBS segscale_ui LABELS ui integration TIMEOUT 180)
endif()
