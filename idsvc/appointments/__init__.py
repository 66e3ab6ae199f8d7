"""Appointments at service centres: schedules, released slots, bookings and a fair waitlist.

A resident books without an account (a name, an optional way to be reached, the language
to be served in) and gets a confirmation code. Released slots and freed seats go to the
waitlist first, in order of request, so booking is not a race (see README, Appointments).
"""
