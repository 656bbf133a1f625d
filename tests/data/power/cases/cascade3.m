function mpc = cascade3
% A hand-checkable cascade: a 100 MW load (bus 2) fed from the slack (bus 1) by two equal
% lines rated 60 MVA each (50 MW each, 83 % loaded); bus 3 holds 20 MW through a third line.
% Tripping one of the two parallel lines puts ~100 MW on the other (~167 %): with a 15 s
% delay at 150 % it trips after 15 * 0.5 / 0.667 = 11.25 s and bus 2 goes dark.
% Written for CityTwin's tests (public domain).
mpc.version = '2';
mpc.baseMVA = 100;
%	bus_i	type	Pd	Qd	Gs	Bs	area	Vm	Va	baseKV	zone	Vmax	Vmin
mpc.bus = [
	1	3	0	0	0	0	1	1	0	110	1	1.1	0.9;
	2	1	100	0	0	0	1	1	0	110	1	1.1	0.9;
	3	1	20	0	0	0	1	1	0	110	1	1.1	0.9;
];
%	bus	Pg	Qg	Qmax	Qmin	Vg	mBase	status	Pmax	Pmin
mpc.gen = [
	1	0	0	300	-300	1	100	1	300	0;
];
%	fbus	tbus	r	x	b	rateA	rateB	rateC	ratio	angle	status	angmin	angmax
mpc.branch = [
	1	2	0.001	0.01	0	60	60	60	0	0	1	-360	360;
	1	2	0.001	0.01	0	60	60	60	0	0	1	-360	360;
	1	3	0.001	0.01	0	60	60	60	0	0	1	-360	360;
];
