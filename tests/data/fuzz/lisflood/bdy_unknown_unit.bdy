comment
inflow
2 fortnights
1 0
2 1
