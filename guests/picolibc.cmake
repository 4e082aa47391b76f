# smccc_emu_have_picolibc(<gcc> <result-var>): whether the aarch64 GCC <gcc> finds picolibc's
# specs file (Debian: picolibc-aarch64-linux-gnu). guests/CMakeLists.txt builds the picolibc guest
# and tests/CMakeLists.txt adds its system test only when it does, both by this one check.
function(smccc_emu_have_picolibc gcc result)
  set(found OFF)
  if(gcc)
    execute_process(COMMAND "${gcc}" -print-file-name=picolibc.specs
                    OUTPUT_VARIABLE specs OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
    # GCC echoes the bare name when it finds no such file.
    if(rc EQUAL 0 AND IS_ABSOLUTE "${specs}" AND EXISTS "${specs}")
      set(found ON)
    endif()
  endif()
  set(${result} ${found} PARENT_SCOPE)
endfunction()
