# Pinned npm packages, fetched once into ${COMPEVAL_CACHE_DIR}/web-assets and
# checked by SHA-256: vega, vega-lite and vega-embed are inlined into every HTML
# report (so it opens offline); ws is the WebSocket client the browser test uses
# to drive Chromium over the DevTools protocol. Runs at configure time.
set(COMPEVAL_WEB_PACKAGES
  "vega@5.33.1=1b8504b6731c5311be3269c4d84ca996a5cc293bc772283293ede20c490e16c3"
  "vega-lite@5.23.0=e4cbfdd8f6f1abe381c59cd558fd6a559c12b1496bfdf2e0c3295263a40fe4da"
  "vega-embed@6.29.0=ecf1ee709c2bac9e0a4ead6908114b05b62c71493e10a8a4308109bb070f8eb1"
  "ws@8.18.3=424be604c8e7926fc29a1f067bf2dac256af3bcea62fe30395018bbaf8a9be2a")
set(COMPEVAL_WEB_ASSETS_DIR "${COMPEVAL_CACHE_DIR}/web-assets")
file(MAKE_DIRECTORY "${COMPEVAL_WEB_ASSETS_DIR}")
file(LOCK "${COMPEVAL_WEB_ASSETS_DIR}/.lock" TIMEOUT 600)

foreach(_entry IN LISTS COMPEVAL_WEB_PACKAGES)
  string(REGEX MATCH "^([^@]+)@([^=]+)=(.+)$" _ "${_entry}")
  set(_name "${CMAKE_MATCH_1}")
  set(_version "${CMAKE_MATCH_2}")
  set(_sha "${CMAKE_MATCH_3}")
  # node_modules/NAME so that Node resolves `require("ws")` from the cache.
  set(_dest "${COMPEVAL_WEB_ASSETS_DIR}/node_modules/${_name}")
  set(_stamp "${_dest}/.compeval-${_version}")
  if(NOT EXISTS "${_stamp}")
    find_program(NPM npm REQUIRED)
    set(_pack "${COMPEVAL_WEB_ASSETS_DIR}/pack")
    file(REMOVE_RECURSE "${_pack}" "${_dest}")
    file(MAKE_DIRECTORY "${_pack}")
    message(STATUS "compeval: npm pack ${_name}@${_version}")
    execute_process(COMMAND "${NPM}" pack "${_name}@${_version}" --silent
                    WORKING_DIRECTORY "${_pack}" RESULT_VARIABLE _rc OUTPUT_QUIET)
    set(_tgz "${_pack}/${_name}-${_version}.tgz")
    if(NOT _rc EQUAL 0 OR NOT EXISTS "${_tgz}")
      message(FATAL_ERROR "compeval: npm pack ${_name}@${_version} failed (${_rc})")
    endif()
    file(SHA256 "${_tgz}" _got)
    if(NOT _got STREQUAL _sha)
      message(FATAL_ERROR "compeval: ${_tgz} has SHA-256 ${_got}, expected ${_sha}")
    endif()
    file(ARCHIVE_EXTRACT INPUT "${_tgz}" DESTINATION "${_pack}")
    file(MAKE_DIRECTORY "${COMPEVAL_WEB_ASSETS_DIR}/node_modules")
    file(RENAME "${_pack}/package" "${_dest}")
    file(REMOVE_RECURSE "${_pack}")
    file(TOUCH "${_stamp}")
  endif()
endforeach()
file(LOCK "${COMPEVAL_WEB_ASSETS_DIR}/.lock" RELEASE)

set(COMPEVAL_VEGA_JS "${COMPEVAL_WEB_ASSETS_DIR}/node_modules/vega/build/vega.min.js")
set(COMPEVAL_VEGA_LITE_JS "${COMPEVAL_WEB_ASSETS_DIR}/node_modules/vega-lite/build/vega-lite.min.js")
set(COMPEVAL_VEGA_EMBED_JS "${COMPEVAL_WEB_ASSETS_DIR}/node_modules/vega-embed/build/vega-embed.min.js")
set(COMPEVAL_NODE_MODULES "${COMPEVAL_WEB_ASSETS_DIR}/node_modules")
