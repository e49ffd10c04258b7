# Warning flags shared by every ptio target; PTIO_WERROR turns them into errors (CI does).
function(ptio_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
    -Wno-sign-conversion -Wnon-virtual-dtor -Wimplicit-fallthrough)
  if(PTIO_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
