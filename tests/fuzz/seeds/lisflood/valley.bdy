valley boundary series
inflow
4 minutes
0.0 0
0.4 10
0.4 40
0.1 60
tide
3 seconds
10.0 0
10.6 1800
10.2 3600
pond
2 hours
9.9 0
10.1 1
