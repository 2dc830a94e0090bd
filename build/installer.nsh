; Included by electron-builder's NSIS installer (electron-builder.yml nsis.include).
; Adds TokenUnify Studio to Explorer's "Open with" for EM files without taking their default app
; (HDFView, image viewers keep it): an OpenWithProgids entry per extension, nothing else.
; Keep the extension list equal to VOLUME_EXTENSIONS in src/main/openwith.ts (test/package checks it).

!macro tuAddOpenWith EXT
  WriteRegNone SHELL_CONTEXT "Software\Classes\.${EXT}\OpenWithProgids" "TokenUnifyStudio.Volume"
!macroend

!macro tuRemoveOpenWith EXT
  DeleteRegValue SHELL_CONTEXT "Software\Classes\.${EXT}\OpenWithProgids" "TokenUnifyStudio.Volume"
!macroend

!macro customInstall
  WriteRegStr SHELL_CONTEXT "Software\Classes\TokenUnifyStudio.Volume" "" "EM volume"
  WriteRegStr SHELL_CONTEXT "Software\Classes\TokenUnifyStudio.Volume\DefaultIcon" "" "$appExe,0"
  WriteRegStr SHELL_CONTEXT "Software\Classes\TokenUnifyStudio.Volume\shell\open" "" "Open with ${PRODUCT_NAME}"
  WriteRegStr SHELL_CONTEXT "Software\Classes\TokenUnifyStudio.Volume\shell\open\command" "" '"$appExe" "%1"'
  !insertmacro tuAddOpenWith h5
  !insertmacro tuAddOpenWith hdf
  !insertmacro tuAddOpenWith tif
  !insertmacro tuAddOpenWith tiff
  !insertmacro tuAddOpenWith zarr
!macroend

!macro customUnInstall
  !insertmacro tuRemoveOpenWith h5
  !insertmacro tuRemoveOpenWith hdf
  !insertmacro tuRemoveOpenWith tif
  !insertmacro tuRemoveOpenWith tiff
  !insertmacro tuRemoveOpenWith zarr
  DeleteRegKey SHELL_CONTEXT "Software\Classes\TokenUnifyStudio.Volume"
!macroend
