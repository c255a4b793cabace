segscale_add_test(NAME tst_studyrun SOURCES integration/tst_studyrun.cpp LIBS segscale_core LABELS integration model slow TIMEOUT 600)
