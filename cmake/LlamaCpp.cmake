# Provides the target `compeval::llama` (llama + ggml) and, where llama.cpp's
# common library is available, `compeval::llama_common` (Jinja chat templates).
#
# Three ways to get llama.cpp, in order of precedence:
#   1. -DCOMPEVAL_LLAMA_SOURCE_DIR=/path/to/llama.cpp   add_subdirectory() of a
#      source tree; every llama.cpp/ggml option (GGML_CUDA=ON ...) passes through.
#   2. -DCOMPEVAL_USE_INSTALLED_LLAMA=ON                find_package(llama); no
#      common library is installed by llama.cpp, so chat templates are unavailable.
#   3. default: the pinned release from the npm package node-llama-cpp, verified
#      by checksum and built once into ${COMPEVAL_CACHE_DIR}, keyed by version and
#      build flags, so fresh clones and CI reuse it.

set(COMPEVAL_NODE_LLAMA_CPP_VERSION "3.22.1")
set(COMPEVAL_LLAMA_BUNDLE_SHA256 "5f5d1105d5df040738d87b8290e5d17e7362131cdcfdb0831618e0ea528b4a51")
set(COMPEVAL_LLAMA_COMMIT "de3ff815ea7d559ee917f063901b8986f038abc6")

set(COMPEVAL_LLAMA_SOURCE_DIR "" CACHE PATH "Use this llama.cpp source tree (add_subdirectory)")
option(COMPEVAL_USE_INSTALLED_LLAMA "Use an installed llama.cpp (find_package(llama))" OFF)
if(DEFINED ENV{XDG_CACHE_HOME})
  set(_compeval_default_cache "$ENV{XDG_CACHE_HOME}/compeval")
else()
  set(_compeval_default_cache "$ENV{HOME}/.cache/compeval")
endif()
set(COMPEVAL_CACHE_DIR "${_compeval_default_cache}" CACHE PATH "Where the pinned llama.cpp is unpacked and built")

# Flags of the cached build. Changing them gives a new cache key.
set(COMPEVAL_LLAMA_CMAKE_ARGS
    -DCMAKE_BUILD_TYPE=Release
    -DBUILD_SHARED_LIBS=OFF
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON
    -DGGML_NATIVE=ON
    -DLLAMA_BUILD_TESTS=OFF
    -DLLAMA_BUILD_EXAMPLES=OFF
    -DLLAMA_BUILD_TOOLS=ON
    -DLLAMA_BUILD_SERVER=ON
    -DLLAMA_BUILD_APP=OFF
    -DLLAMA_BUILD_UI=OFF
    -DLLAMA_USE_PREBUILT_UI=OFF
    -DLLAMA_OPENSSL=OFF
    -DLLAMA_BUILD_COMMON=ON)
set(COMPEVAL_LLAMA_TARGETS llama llama-common llama-perplexity llama-server)

if(COMPEVAL_LLAMA_SOURCE_DIR)
  message(STATUS "compeval: llama.cpp from source dir ${COMPEVAL_LLAMA_SOURCE_DIR}")
  set(LLAMA_BUILD_COMMON ON CACHE BOOL "" FORCE)
  set(LLAMA_BUILD_TESTS OFF CACHE BOOL "" FORCE)
  set(LLAMA_BUILD_EXAMPLES OFF CACHE BOOL "" FORCE)
  set(LLAMA_USE_PREBUILT_UI OFF CACHE BOOL "" FORCE)
  set(LLAMA_OPENSSL OFF CACHE BOOL "" FORCE)
  set(LLAMA_BUILD_TOOLS ON CACHE BOOL "" FORCE)  # llama-perplexity, llama-server
  set(LLAMA_BUILD_SERVER ON CACHE BOOL "" FORCE)
  set(LLAMA_BUILD_UI OFF CACHE BOOL "" FORCE)
  add_subdirectory("${COMPEVAL_LLAMA_SOURCE_DIR}" "${CMAKE_BINARY_DIR}/llama.cpp" EXCLUDE_FROM_ALL)
  add_library(compeval_llama INTERFACE)
  target_link_libraries(compeval_llama INTERFACE llama)
  add_library(compeval_llama_common INTERFACE)
  target_link_libraries(compeval_llama_common INTERFACE llama-common)
  set(COMPEVAL_HAVE_LLAMA_COMMON ON)
  set(COMPEVAL_LLAMA_PERPLEXITY "$<TARGET_FILE:llama-perplexity>")
  set(COMPEVAL_LLAMA_SERVER "$<TARGET_FILE:llama-server>")
  set(COMPEVAL_LLAMA_VOCAB_DIR "${COMPEVAL_LLAMA_SOURCE_DIR}/models")
  set(COMPEVAL_LLAMA_VERSION "source:${COMPEVAL_LLAMA_SOURCE_DIR}")
elseif(COMPEVAL_USE_INSTALLED_LLAMA)
  find_package(llama REQUIRED)
  message(STATUS "compeval: installed llama.cpp ${LLAMA_VERSION}; chat templates disabled (no common library)")
  add_library(compeval_llama INTERFACE)
  target_link_libraries(compeval_llama INTERFACE llama)
  set(COMPEVAL_HAVE_LLAMA_COMMON OFF)
  find_program(COMPEVAL_LLAMA_PERPLEXITY llama-perplexity)
  find_program(COMPEVAL_LLAMA_SERVER llama-server)
  set(COMPEVAL_LLAMA_VOCAB_DIR "" CACHE PATH "Directory holding llama.cpp's models/ggml-vocab-*.gguf")
  set(COMPEVAL_LLAMA_VERSION "installed:${LLAMA_VERSION}")
else()
  include(${CMAKE_CURRENT_LIST_DIR}/LlamaCppCache.cmake)
endif()

add_library(compeval::llama ALIAS compeval_llama)
if(COMPEVAL_HAVE_LLAMA_COMMON)
  add_library(compeval::llama_common ALIAS compeval_llama_common)
endif()
