<#
.SYNOPSIS
  Build Kling Desktop for Windows: the PyInstaller bundle, a portable .zip and the Inno Setup installer.

.DESCRIPTION
  From the repository root:
      powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1 [-Python C:\path\python.exe] [-Clean] [-SkipInstaller]

  Produces in dist\:
      kling-desktop-<version>-windows-x64-setup.exe   per-user installer (Inno Setup 6)
      kling-desktop-<version>-windows-x64.zip         the portable one-folder bundle
  The bundle itself stays in build\windows\bundle\kling-desktop. The Python used must have the
  app and PyInstaller installed (pip install ".[build]"); Inno Setup 6 must be installed
  (ISCC.exe on PATH or in its default folder; `choco install innosetup` otherwise).
  Test the bundle with packaging\windows\selftest.ps1.
#>
[CmdletBinding()]
param(
    [string]$Python = "python",
    [switch]$Clean,
    [switch]$SkipInstaller
)
$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$Root = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
Set-Location $Root
$env:PYTHONPATH = $Root
$Version = (& $Python -c "import kling_desktop; print(kling_desktop.__version__)").Trim()
if ($LASTEXITCODE -ne 0 -or -not $Version) { throw "Cannot read kling_desktop.__version__ with $Python" }
$Numeric = (& $Python -c "import sys; sys.path.insert(0, 'packaging/windows'); from make_version_info import version_tuple; print('.'.join(map(str, version_tuple('$Version'))))").Trim()
Remove-Item Env:PYTHONPATH

$Build = Join-Path $Root "build\windows"
$Dist = Join-Path $Root "dist"
$Bundle = Join-Path $Build "bundle\kling-desktop"
New-Item -ItemType Directory -Force -Path $Build, $Dist | Out-Null
if (Test-Path $Bundle) { Remove-Item -Recurse -Force $Bundle }

Write-Host "==> PyInstaller bundle of Kling Desktop $Version"
$started = Get-Date
$pyiArgs = @("-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
             "--distpath", (Join-Path $Build "bundle"), "--workpath", (Join-Path $Build "pyinstaller"))
if ($Clean) { $pyiArgs += "--clean" }
& $Python @pyiArgs "packaging\kling_desktop.spec"
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed ($LASTEXITCODE)" }
if (-not (Test-Path (Join-Path $Bundle "kling-desktop.exe"))) { throw "kling-desktop.exe was not built" }

$sizeMiB = [math]::Round(((Get-ChildItem -Recurse -File $Bundle | Measure-Object -Sum Length).Sum) / 1MB)
Write-Host "==> bundle: $Bundle, $sizeMiB MiB unpacked"

$Zip = Join-Path $Dist "kling-desktop-$Version-windows-x64.zip"
Write-Host "==> $(Split-Path -Leaf $Zip)"
if (Test-Path $Zip) { Remove-Item -Force $Zip }
Compress-Archive -Path $Bundle -DestinationPath $Zip -CompressionLevel Optimal

if (-not $SkipInstaller) {
    $iscc = (Get-Command "ISCC.exe" -ErrorAction SilentlyContinue).Source
    if (-not $iscc) {
        foreach ($candidate in @("${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe", "$env:ProgramFiles\Inno Setup 6\ISCC.exe", "$env:LOCALAPPDATA\Programs\Inno Setup 6\ISCC.exe")) {
            if (Test-Path $candidate) { $iscc = $candidate; break }
        }
    }
    if (-not $iscc) { throw "Inno Setup 6 (ISCC.exe) not found: choco install innosetup, or pass -SkipInstaller" }
    Write-Host "==> installer with $iscc"
    & $iscc "/Qp" "/DAppVersion=$Version" "/DAppNumericVersion=$Numeric" "/DBundleDir=$Bundle" "/DOutputDir=$Dist" "packaging\windows\kling-desktop.iss"
    if ($LASTEXITCODE -ne 0) { throw "ISCC failed ($LASTEXITCODE)" }
}

$elapsed = [math]::Round(((Get-Date) - $started).TotalSeconds)
Write-Host "==> done in ${elapsed}s"
Get-ChildItem $Dist -Filter "kling-desktop-$Version-windows-*" | ForEach-Object {
    Write-Host ("    {0,-52} {1} MiB" -f $_.Name, [math]::Round($_.Length / 1MB))
}
