# Default llama.cpp: unpack the pinned node-llama-cpp release and build it once
# into ${COMPEVAL_CACHE_DIR}. Runs at configure time so the build tree of
# compeval only ever links against finished static libraries.

find_package(OpenMP REQUIRED)
find_package(Threads REQUIRED)

set(_root "${COMPEVAL_CACHE_DIR}/llama.cpp-${COMPEVAL_NODE_LLAMA_CPP_VERSION}")
set(_src "${_root}/src")
# llama.cpp may be built by another compiler than compeval's own code (the
# fuzzing build compiles compeval with clang and links the g++ build of
# llama.cpp that the other builds share).
set(COMPEVAL_LLAMA_C_COMPILER "${CMAKE_C_COMPILER}" CACHE FILEPATH "C compiler of the cached llama.cpp build")
set(COMPEVAL_LLAMA_CXX_COMPILER "${CMAKE_CXX_COMPILER}" CACHE FILEPATH "C++ compiler of the cached llama.cpp build")
if(COMPEVAL_LLAMA_CXX_COMPILER STREQUAL CMAKE_CXX_COMPILER)
  set(_llama_compiler "${CMAKE_CXX_COMPILER_ID}-${CMAKE_CXX_COMPILER_VERSION}")
else()
  execute_process(COMMAND "${COMPEVAL_LLAMA_CXX_COMPILER}" --version OUTPUT_VARIABLE _banner)
  execute_process(COMMAND "${COMPEVAL_LLAMA_CXX_COMPILER}" -dumpfullversion OUTPUT_VARIABLE _version
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(_banner MATCHES "clang")
    set(_llama_compiler "Clang-${_version}")
  else()
    set(_llama_compiler "GNU-${_version}")
  endif()
endif()
string(SHA256 _flags_key "${_llama_compiler};${COMPEVAL_LLAMA_CMAKE_ARGS}")
string(SUBSTRING "${_flags_key}" 0 12 _flags_key)
set(_build "${_root}/build-${_flags_key}")
file(MAKE_DIRECTORY "${_root}")
# Two configures at once (e.g. the normal and sanitizer trees) must not race.
file(LOCK "${_root}/.lock" TIMEOUT 3600)

if(NOT EXISTS "${_src}/.compeval-verified")
  find_program(NPM npm REQUIRED)
  find_program(GIT git REQUIRED)
  set(_pack "${_root}/pack")
  file(REMOVE_RECURSE "${_pack}" "${_src}")
  file(MAKE_DIRECTORY "${_pack}")
  message(STATUS "compeval: npm pack node-llama-cpp@${COMPEVAL_NODE_LLAMA_CPP_VERSION}")
  execute_process(
    COMMAND "${NPM}" pack "node-llama-cpp@${COMPEVAL_NODE_LLAMA_CPP_VERSION}" --silent
    WORKING_DIRECTORY "${_pack}" RESULT_VARIABLE _rc OUTPUT_QUIET)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "compeval: npm pack node-llama-cpp@${COMPEVAL_NODE_LLAMA_CPP_VERSION} failed (${_rc})")
  endif()
  file(ARCHIVE_EXTRACT INPUT "${_pack}/node-llama-cpp-${COMPEVAL_NODE_LLAMA_CPP_VERSION}.tgz"
       DESTINATION "${_pack}" PATTERNS package/llama/gitRelease.bundle)
  set(_bundle "${_pack}/package/llama/gitRelease.bundle")
  file(SHA256 "${_bundle}" _sha)
  if(NOT _sha STREQUAL COMPEVAL_LLAMA_BUNDLE_SHA256)
    message(FATAL_ERROR "compeval: ${_bundle} has SHA-256 ${_sha}, expected ${COMPEVAL_LLAMA_BUNDLE_SHA256}")
  endif()
  execute_process(COMMAND "${GIT}" -c advice.detachedHead=false clone --quiet "${_bundle}" "${_src}" RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "compeval: git clone of ${_bundle} failed")
  endif()
  execute_process(COMMAND "${GIT}" -C "${_src}" rev-parse HEAD OUTPUT_VARIABLE _head
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT _head STREQUAL COMPEVAL_LLAMA_COMMIT)
    message(FATAL_ERROR "compeval: bundle holds commit ${_head}, expected ${COMPEVAL_LLAMA_COMMIT}")
  endif()
  file(REMOVE_RECURSE "${_pack}")
  file(TOUCH "${_src}/.compeval-verified")
endif()

set(_stamp "${_build}/.compeval-built")
set(_want "${COMPEVAL_LLAMA_TARGETS}")
set(_have "")
if(EXISTS "${_stamp}")
  file(READ "${_stamp}" _have)
endif()
if(NOT _have STREQUAL _want)
  cmake_host_system_information(RESULT _jobs QUERY NUMBER_OF_LOGICAL_CORES)
  message(STATUS "compeval: building llama.cpp ${COMPEVAL_LLAMA_COMMIT} in ${_build} (once; several minutes)")
  execute_process(
    COMMAND "${CMAKE_COMMAND}" -S "${_src}" -B "${_build}" -G "${CMAKE_GENERATOR}"
            "-DCMAKE_C_COMPILER=${COMPEVAL_LLAMA_C_COMPILER}" "-DCMAKE_CXX_COMPILER=${COMPEVAL_LLAMA_CXX_COMPILER}"
            ${COMPEVAL_LLAMA_CMAKE_ARGS}
    RESULT_VARIABLE _rc OUTPUT_FILE "${_root}/configure.log" ERROR_FILE "${_root}/configure.log")
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "compeval: configuring llama.cpp failed; see ${_root}/configure.log")
  endif()
  execute_process(
    COMMAND "${CMAKE_COMMAND}" --build "${_build}" --parallel ${_jobs} --target ${_want}
    RESULT_VARIABLE _rc OUTPUT_FILE "${_root}/build.log" ERROR_FILE "${_root}/build.log")
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "compeval: building llama.cpp failed; see ${_root}/build.log")
  endif()
  file(WRITE "${_stamp}" "${_want}")
endif()
file(LOCK "${_root}/.lock" RELEASE)

set(_libs
    "${_build}/common/libllama-common.a"
    "${_build}/common/libllama-common-base.a"
    "${_build}/vendor/cpp-httplib/libcpp-httplib.a"
    "${_build}/src/libllama.a"
    "${_build}/ggml/src/libggml.a"
    "${_build}/ggml/src/libggml-cpu.a"
    "${_build}/ggml/src/libggml-base.a")
foreach(_lib IN LISTS _libs)
  if(NOT EXISTS "${_lib}")
    message(FATAL_ERROR "compeval: expected ${_lib} in the llama.cpp build; delete ${_build} and reconfigure")
  endif()
endforeach()

add_library(compeval_llama INTERFACE)
target_include_directories(compeval_llama SYSTEM INTERFACE "${_src}/include" "${_src}/ggml/include")
target_link_libraries(compeval_llama INTERFACE
    "$<LINK_GROUP:RESCAN,${_build}/src/libllama.a,${_build}/ggml/src/libggml.a,${_build}/ggml/src/libggml-cpu.a,${_build}/ggml/src/libggml-base.a>"
    OpenMP::OpenMP_CXX Threads::Threads ${CMAKE_DL_LIBS})

add_library(compeval_llama_common INTERFACE)
target_include_directories(compeval_llama_common SYSTEM INTERFACE "${_src}/common" "${_src}/vendor")
target_link_libraries(compeval_llama_common INTERFACE
    "${_build}/common/libllama-common.a" "${_build}/common/libllama-common-base.a"
    "${_build}/vendor/cpp-httplib/libcpp-httplib.a" compeval_llama)

set(COMPEVAL_HAVE_LLAMA_COMMON ON)
set(COMPEVAL_LLAMA_PERPLEXITY "${_build}/bin/llama-perplexity")
set(COMPEVAL_LLAMA_SERVER "${_build}/bin/llama-server")
set(COMPEVAL_LLAMA_VOCAB_DIR "${_src}/models")
set(COMPEVAL_LLAMA_VERSION "node-llama-cpp@${COMPEVAL_NODE_LLAMA_CPP_VERSION}:${COMPEVAL_LLAMA_COMMIT}")
