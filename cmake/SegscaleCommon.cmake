# One INTERFACE target carries the language level, warnings and Qt strictness defines;
# every SegScale target links it so the whole tree is built the same way.
add_library(segscale_common INTERFACE)
target_compile_features(segscale_common INTERFACE cxx_std_20)
target_compile_options(segscale_common INTERFACE -Wall -Wextra -Wpedantic)
if(SEGSCALE_WERROR)
    target_compile_options(segscale_common INTERFACE -Werror)
endif()
target_compile_definitions(segscale_common INTERFACE
    QT_NO_KEYWORDS  # LibTorch uses "slots" as an identifier: write Q_SIGNALS, Q_SLOTS, Q_EMIT
    QT_NO_CAST_FROM_ASCII
    QT_NO_CONTEXTLESS_CONNECT
    QT_USE_QSTRINGBUILDER
    QT_NO_URL_CAST_FROM_STRING
    QT_NO_NARROWING_CONVERSIONS_IN_CONNECT)
target_include_directories(segscale_common INTERFACE ${PROJECT_SOURCE_DIR}/core ${PROJECT_SOURCE_DIR})
