# Helpers so each module's CMakeLists.txt is a few declarative lines.
#
#   rk_library(NAME kube SRCS a.cc b.cc DEPS base CURL::libcurl)
#     -> static library ringkeeper_<NAME>, alias rk::<NAME>, include root = src/
#   rk_test(NAME kube_object_test SRCS object_test.cc DEPS rk::kube [LABELS unit])
#     -> a GoogleTest binary registered with ctest under its labels (default: unit)
#   rk_binary(NAME ringkeeper-operator SRCS main.cc DEPS rk::operator)

set(RK_SOURCE_ROOT ${CMAKE_SOURCE_DIR}/src)

function(rk_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(ringkeeper_${ARG_NAME} STATIC ${ARG_SRCS})
  add_library(rk::${ARG_NAME} ALIAS ringkeeper_${ARG_NAME})
  target_include_directories(ringkeeper_${ARG_NAME} PUBLIC ${RK_SOURCE_ROOT})
  target_link_libraries(ringkeeper_${ARG_NAME} PUBLIC ${ARG_DEPS})
  target_compile_options(ringkeeper_${ARG_NAME} PRIVATE -Wall -Wextra -Werror=return-type)
endfunction()

function(rk_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_options(${ARG_NAME} PRIVATE -Wall -Wextra)
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
  set_tests_properties(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}")
endfunction()

function(rk_binary)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
  target_compile_options(${ARG_NAME} PRIVATE -Wall -Wextra -Werror=return-type)
endfunction()
