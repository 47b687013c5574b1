; Inno Setup script for Ledgerboard on Windows.
; Build the app first (python packaging/build.py), then: iscc packaging\windows\ledgerboard.iss
; The version comes from the command line: iscc /DAppVersion=0.1.0 ...
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6E1B4C0A-3F5D-4B7E-9C1A-2D8F5E4A7B90}
AppName=Ledgerboard
AppVersion={#AppVersion}
AppPublisher=Ledgerboard
DefaultDirName={autopf}\Ledgerboard
DefaultGroupName=Ledgerboard
UninstallDisplayIcon={app}\Ledgerboard.exe
SetupIconFile=..\..\resources\icons\ledgerboard.ico
OutputDir=..\..\dist
OutputBaseFilename=Ledgerboard-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\Ledgerboard\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Ledgerboard"; Filename: "{app}\Ledgerboard.exe"
Name: "{group}\Uninstall Ledgerboard"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Ledgerboard"; Filename: "{app}\Ledgerboard.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\Ledgerboard.exe"; Description: "{cm:LaunchProgram,Ledgerboard}"; Flags: nowait postinstall skipifsilent

; The user's data (database, logs, settings) lives in %LOCALAPPDATA%\Ledgerboard and the keys
; in Windows Credential Manager; uninstalling leaves both, as the README says.
