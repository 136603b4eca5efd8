# NpmDeps.cmake: makes node_modules/ (at the repository root) match package-lock.json.
#
# Runs `npm ci --no-audit --no-fund` when node_modules is missing, lacks a file the build
# embeds, or was installed from another package-lock.json / package.json (their SHA-256 is kept
# in node_modules/.ryuryo-npm-stamp). Otherwise it does nothing and needs no network.
# A lock file (.node_modules.lock beside package.json) serialises concurrent runs, so two build
# directories configured at once do not both rewrite node_modules.
#
# Two ways in:
#   cmake -DSOURCE_DIR=/path/to/repo -P cmake/NpmDeps.cmake     (scripts/install-deps.sh)
#   include(cmake/NpmDeps.cmake); ryuryo_npm_deps(${CMAKE_SOURCE_DIR})   (configure time)

function(ryuryo_npm_deps source_dir)
  set(lock "${source_dir}/package-lock.json")
  set(manifest "${source_dir}/package.json")
  set(modules "${source_dir}/node_modules")
  set(stamp "${modules}/.ryuryo-npm-stamp")
  # The files the build embeds (cmake/RyuryoWeb.cmake); any missing one forces a reinstall.
  set(required
    "${modules}/uplot/dist/uPlot.iife.min.js"
    "${modules}/uplot/dist/uPlot.min.css"
    "${modules}/uplot/LICENSE")

  if(NOT EXISTS "${lock}" OR NOT EXISTS "${manifest}")
    message(FATAL_ERROR "npm: ${lock} or ${manifest} is missing")
  endif()
  file(SHA256 "${lock}" lock_sha)
  file(SHA256 "${manifest}" manifest_sha)
  set(want "package-lock.json ${lock_sha}\npackage.json ${manifest_sha}\n")

  file(LOCK "${source_dir}/.node_modules.lock" GUARD FUNCTION TIMEOUT 600
       RESULT_VARIABLE lock_result)
  if(NOT lock_result EQUAL 0)
    message(FATAL_ERROR "npm: could not lock ${source_dir}/.node_modules.lock: ${lock_result}")
  endif()

  set(fresh TRUE)
  if(EXISTS "${stamp}")
    file(READ "${stamp}" have)
    if(NOT have STREQUAL want)
      set(fresh FALSE)
    endif()
  else()
    set(fresh FALSE)
  endif()
  foreach(f IN LISTS required)
    if(NOT EXISTS "${f}")
      set(fresh FALSE)
    endif()
  endforeach()
  if(fresh)
    return()
  endif()

  find_program(RYURYO_NPM npm)
  if(NOT RYURYO_NPM)
    message(FATAL_ERROR
      "npm is not installed: run scripts/install-deps.sh (it installs Debian's nodejs and npm)")
  endif()
  message(STATUS "npm ci in ${source_dir} (node_modules is missing or older than package-lock.json)")
  execute_process(
    COMMAND "${RYURYO_NPM}" ci --no-audit --no-fund --loglevel=error
    WORKING_DIRECTORY "${source_dir}"
    RESULT_VARIABLE npm_result)
  if(NOT npm_result EQUAL 0)
    message(FATAL_ERROR "npm ci failed (${npm_result}) in ${source_dir}")
  endif()
  foreach(f IN LISTS required)
    if(NOT EXISTS "${f}")
      message(FATAL_ERROR "npm ci did not install ${f}: is package.json's uplot dependency there?")
    endif()
  endforeach()
  file(WRITE "${stamp}" "${want}")
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  if(NOT SOURCE_DIR)
    get_filename_component(SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
  endif()
  ryuryo_npm_deps("${SOURCE_DIR}")
endif()
