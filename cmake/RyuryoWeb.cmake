# RyuryoWeb.cmake: the web dashboard (web/) compiled into the server binary.
#
# ryuryo_web_library(<target>) defines a static library holding one generated source,
# <build>/generated/web_assets.cc, made by cmake/EmbedWeb.cmake from
#   web/**            (html, js, css, svg, ...; not web/test/ and not *.md)   -> /<same path>
#   node_modules/uplot/dist/uPlot.iife.min.js, uPlot.min.css, uplot/LICENSE  -> /vendor/...
# It is regenerated whenever one of those files changes; adding or removing a file under web/
# re-runs the configure step (CONFIGURE_DEPENDS). node_modules is brought in line with
# package-lock.json at configure time (cmake/NpmDeps.cmake), and again when package-lock.json
# or package.json change.
#
# The dashboard's JavaScript unit tests (web/test/*.test.mjs, node's built-in test runner) are
# added to ctest as web.unit when node is installed.

include("${CMAKE_CURRENT_LIST_DIR}/NpmDeps.cmake")

function(ryuryo_web_library target)
  set(root "${CMAKE_SOURCE_DIR}")
  ryuryo_npm_deps("${root}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
    "${root}/package-lock.json" "${root}/package.json")

  file(GLOB_RECURSE web_files CONFIGURE_DEPENDS RELATIVE "${root}/web" "${root}/web/*")
  set(manifest_lines "")
  set(inputs "")
  foreach(rel IN LISTS web_files)
    if(rel MATCHES "^test/" OR rel MATCHES "\\.md$" OR rel MATCHES "(^|/)\\.")
      continue()
    endif()
    string(APPEND manifest_lines "/${rel}|${root}/web/${rel}\n")
    list(APPEND inputs "${root}/web/${rel}")
  endforeach()
  set(uplot "${root}/node_modules/uplot")
  foreach(pair
      "/vendor/uPlot.iife.min.js|${uplot}/dist/uPlot.iife.min.js"
      "/vendor/uPlot.min.css|${uplot}/dist/uPlot.min.css"
      "/vendor/uPlot.LICENSE.txt|${uplot}/LICENSE")
    string(APPEND manifest_lines "${pair}\n")
    string(REGEX REPLACE "^[^|]*\\|" "" file "${pair}")
    list(APPEND inputs "${file}")
  endforeach()

  set(gen "${CMAKE_BINARY_DIR}/generated")
  set(manifest "${gen}/web_assets.manifest")
  set(output "${gen}/web_assets.cc")
  file(MAKE_DIRECTORY "${gen}")
  # Rewritten only when it changes, so that a re-configure alone does not rebuild the table.
  file(WRITE "${manifest}.new" "${manifest_lines}")
  configure_file("${manifest}.new" "${manifest}" COPYONLY)

  add_custom_command(
    OUTPUT "${output}"
    COMMAND "${CMAKE_COMMAND}" -DMANIFEST=${manifest} -DOUTPUT=${output}
            -P "${root}/cmake/EmbedWeb.cmake"
    DEPENDS ${inputs} "${manifest}" "${root}/cmake/EmbedWeb.cmake"
    COMMENT "Embedding the web dashboard (web/, uPlot) into web_assets.cc"
    VERBATIM)
  add_library(${target} STATIC "${output}")
  target_include_directories(${target} PUBLIC "${root}/src")

  find_program(RYURYO_NODE node)
  file(GLOB web_tests CONFIGURE_DEPENDS "${root}/web/test/*.test.mjs")
  if(RYURYO_NODE AND web_tests)
    add_test(NAME web.unit COMMAND "${RYURYO_NODE}" --test ${web_tests}
             WORKING_DIRECTORY "${root}")
    set_tests_properties(web.unit PROPERTIES TIMEOUT 120)
  endif()
endfunction()
