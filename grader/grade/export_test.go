package grade

// SyncFiles is syncFiles, for the tests.
var SyncFiles = syncFiles
