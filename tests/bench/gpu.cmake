# segscale-gpubench (tests/bench/gpu): the whole procedure on one device — the device
# pyramid, the batched window step and the device combine — with PSPNet random weights.
# Its real use is on a GPU machine (tests/bench/gpu.sh builds it there with the
# standalone tests/bench/gpu/CMakeLists.txt and a CUDA LibTorch); here it is built from
# the same sources (core/procedure plus the native PSPNet's four Qt-free files) and
# tst_gpubench_cpu runs it on the CPU at toy sizes: the table and the agreement lines
# must come out, never a timing is checked.
#
# ctest runs this same file as a script (-P) for that check.
if(CMAKE_SCRIPT_MODE_FILE)
    function(gpubench_check what rc out expected_rc pattern)
        message("$ segscale-gpubench ${what}\n${out}")
        if(NOT rc STREQUAL "${expected_rc}")
            message(FATAL_ERROR "${what}: exit status ${rc}, expected ${expected_rc}")
        endif()
        if(NOT "${out}" MATCHES "${pattern}")
            message(FATAL_ERROR "${what}: the output does not match ${pattern}")
        endif()
    endfunction()
    # Quoted, so that the ';' between the two scale sets stays inside one argument.
    execute_process(COMMAND "${GPUBENCH}" --device cpu --size 81 --crop 49 --base-size 81 --classes 5 --images 2
                            --batch 8 --in-flight 2 --warmup 1 --precisions fp32,bf16 --scale-sets "1;0.5,1"
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    gpubench_check("tiny CPU run" "${rc}" "${out}" 0
        "scale set +precision +images +windows/image +images/s +s/image\n1 +fp32 +2 +4 +[0-9.]+ +[0-9.]+\n0\\.5,1 +fp32 +2 +5 .*1 +bf16 +2 +4 .*agreement +1 +bf16 +vs fp32: [01]\\.[0-9][0-9][0-9][0-9][0-9][0-9] of 13122 pixels.*agreement +0\\.5,1 +bf16 +vs fp32: [01]\\.[0-9][0-9][0-9][0-9][0-9][0-9] of 13122 pixels")
    foreach(case "fp16 needs --device cuda|--device;cpu;--precisions;fp32,fp16"
                 "unknown argument '--bogus'|--bogus"
                 "--scale-sets: 'x' in '1,x' is not a scale|--device;cpu;--scale-sets;1,x"
                 "--crop wants a whole number from 17|--device;cpu;--crop;9")
        string(REPLACE "|" ";" case "${case}")
        list(POP_FRONT case pattern)
        execute_process(COMMAND "${GPUBENCH}" ${case} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
        gpubench_check("${case}" "${rc}" "${out}" 2 "${pattern}")
    endforeach()
    execute_process(COMMAND "${GPUBENCH}" --help RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    gpubench_check("--help" "${rc}" "${out}" 0 "--precisions LIST")
    return()
endif()

add_executable(segscale-gpubench
    ${CMAKE_CURRENT_LIST_DIR}/gpu/gpubench.cpp
    ${PROJECT_SOURCE_DIR}/core/model/pspnetmodule.cpp
    ${PROJECT_SOURCE_DIR}/core/model/pspnetbottleneck.cpp
    ${PROJECT_SOURCE_DIR}/core/model/pspnetppm.cpp
    ${PROJECT_SOURCE_DIR}/core/model/pspnetconvbn.cpp)
# No Qt anywhere in it: the standalone build has none.
set_target_properties(segscale-gpubench PROPERTIES AUTOMOC OFF AUTORCC OFF AUTOUIC OFF)
target_link_libraries(segscale-gpubench PRIVATE segscale_common segscale_procedure ${TORCH_LIBRARIES})
target_compile_options(segscale-gpubench PRIVATE ${TORCH_CXX_FLAGS})

add_test(NAME tst_gpubench_cpu
         COMMAND ${CMAKE_COMMAND} -DGPUBENCH=$<TARGET_FILE:segscale-gpubench> -P ${CMAKE_CURRENT_LIST_FILE})
set_tests_properties(tst_gpubench_cpu PROPERTIES LABELS bench TIMEOUT 300)
