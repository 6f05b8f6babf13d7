SELECT count(*) AS Count FROM p WHERE FileName = 'powershell.exe';
