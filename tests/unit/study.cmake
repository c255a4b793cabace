# core/study: the study services every front end calls (real SQLite files, real folders).
segscale_add_test(NAME tst_datasetscanner SOURCES unit/tst_datasetscanner.cpp LIBS segscale_study LABELS unit)
segscale_add_test(NAME tst_studycreator SOURCES unit/tst_studycreator.cpp LIBS segscale_study LABELS unit)
segscale_add_test(NAME tst_runplanner SOURCES unit/tst_runplanner.cpp LIBS segscale_study LABELS unit)
segscale_add_test(NAME tst_studystatus SOURCES unit/tst_studystatus.cpp LIBS segscale_study LABELS unit)
