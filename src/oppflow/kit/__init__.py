"""What oppflow's faces and domains share that belongs to none of them."""
