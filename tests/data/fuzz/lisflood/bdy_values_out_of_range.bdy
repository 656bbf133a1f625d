comment
inflow
2 seconds
1e300 0
nan 1
