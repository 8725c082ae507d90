<#
.SYNOPSIS
  Run the frozen Kling Desktop self-test and fail when it fails.

.DESCRIPTION
      powershell -ExecutionPolicy Bypass -File packaging\windows\selftest.ps1 [-Exe <path to kling-desktop.exe>] [-Offscreen]

  kling-desktop.exe is a GUI program (no console), so PowerShell would neither wait for it nor
  see its output: it is started with Start-Process -Wait and writes its JSON report to a file,
  which is printed here. The default exe is the bundle build.ps1 made.
#>
[CmdletBinding()]
param(
    [string]$Exe = "",
    [switch]$Offscreen,
    [int]$Timeout = 120
)
$ErrorActionPreference = "Stop"
$Root = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
if (-not $Exe) { $Exe = Join-Path $Root "build\windows\bundle\kling-desktop\kling-desktop.exe" }
if (-not (Test-Path $Exe)) { throw "$Exe not found: run packaging\windows\build.ps1 first" }
$Report = Join-Path $Root "build\windows\selftest.json"
if (Test-Path $Report) { Remove-Item -Force $Report }
if ($Offscreen) { $env:QT_QPA_PLATFORM = "offscreen" }

$process = Start-Process -FilePath $Exe -ArgumentList @("--self-test", "--timeout", "$Timeout", "--report", "`"$Report`"") -Wait -PassThru -NoNewWindow
if (-not (Test-Path $Report)) { throw "the self-test wrote no report (exit code $($process.ExitCode))" }
Get-Content -Raw $Report | Write-Host
$data = Get-Content -Raw $Report | ConvertFrom-Json
if ($process.ExitCode -ne 0 -or -not $data.ok -or -not $data.frozen) {
    throw "frozen self-test failed (exit code $($process.ExitCode))"
}
Write-Host "frozen self-test passed"
