comment
inflow
99999999999 seconds
1 0
