# Safe image reading and decoding (core/pipeline: ImageDecoder, JpegReader, PngReader).
segscale_add_test(NAME tst_imagedecoder
    SOURCES unit/tst_imagedecoder.cpp common/badinputs.h
    LIBS segscale_pipeline Qt6::Concurrent
    LABELS unit
    TIMEOUT 180)
