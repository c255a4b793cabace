# ui/: SegScale Studio's models and windows, offscreen (QT_QPA_PLATFORM=offscreen comes
# with every test). Built only with -DSEGSCALE_BUILD_GUI=ON.
if(SEGSCALE_BUILD_GUI)
    segscale_add_test(NAME tst_workersmodel SOURCES ui/tst_workersmodel.cpp LIBS segscale_ui LABELS ui unit TIMEOUT 60)
    # ErrorsModel and ResultsModel paging over a real embedded coordinator and a SQLite
    # study written with JobStore (no model, no agent).
    # The Progress tab's per-dataset counts and throughput buckets against brute force on a
    # JobStore-written study, the what-if arithmetic, live leases (no agent, no model).
    segscale_add_test(NAME tst_progressviews SOURCES ui/tst_progressviews.cpp LIBS segscale_ui LABELS ui integration TIMEOUT 120)
    segscale_add_test(NAME tst_errorsresultsmodels SOURCES ui/tst_errorsresultsmodels.cpp LIBS segscale_ui LABELS ui integration TIMEOUT 120)
    # A real study made with the CLI, an embedded coordinator with one launched local agent
    # (the ESPNet model), then a separate `segscale serve` attached to over WebSocket.
    segscale_add_test(NAME tst_studio SOURCES ui/tst_studio.cpp LIBS segscale_ui LABELS ui integration model TIMEOUT 600)
    # Settings across two windows, shortcuts, the Start agents dialog's requests, a real
    # local agent launched from it, and closing during the run: Cancel, then drain and close.
    segscale_add_test(NAME tst_studiomanners SOURCES ui/tst_studiomanners.cpp LIBS segscale_ui LABELS ui integration model TIMEOUT 600)
endif()
if(SEGSCALE_BUILD_GUI)
    # File > New study… and Study > Add data source… through their API: the real ESPNet
    # model, a local folder compared with a CLI-made twin, and a real sshd for Test, the
    # host key dialog and Count over SFTP.
    segscale_add_test(NAME tst_studydialogs SOURCES ui/tst_studydialogs.cpp common/sshdfixture.cpp common/sshdfixture.h
                      LIBS segscale_ui LABELS ui integration model TIMEOUT 300)
endif()
if(SEGSCALE_BUILD_GUI)
    # The Results view: SQL sort/filter paging, per-dataset means, CSV export against the
    # CLI's bytes, and the image viewer, over a real embedded coordinator and SQLite study.
    segscale_add_test(NAME tst_resultspage SOURCES ui/tst_resultspage.cpp LIBS segscale_ui LABELS ui integration TIMEOUT 180)
    add_dependencies(tst_resultspage segscale)
endif()
if(SEGSCALE_BUILD_GUI)
    # Issue #13's whole morning through the window: New study, Add data source (a corrupt
    # file included), a local and an external agent on the real model and real photos, the
    # viewer's class under a point against the label map, CSV export = the CLI's bytes,
    # Retry selected, an audit mark that survives reopening, and attaching to `serve`.
    segscale_add_test(NAME tst_studioworkflow SOURCES ui/tst_studioworkflow.cpp LIBS segscale_ui LABELS ui integration model TIMEOUT 900)
    add_dependencies(tst_studioworkflow segscale)
endif()
